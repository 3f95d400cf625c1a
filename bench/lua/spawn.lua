-- spawn: create 1,000,000 coroutines, each returning its index, keep them
-- all in an array, then resume each to completion and sum the results.
-- Measures what a coroutine costs to create and run, and the memory it
-- holds.

local thread_count = 1000000

local threads = {}
for i = 0, thread_count - 1 do
  threads[i + 1] = coroutine.create(function() return i end)
end

local total = 0
for i = 1, thread_count do
  local ok, result = coroutine.resume(threads[i])
  if not ok then
    error(result)
  end
  total = total + result
end

print(total)
