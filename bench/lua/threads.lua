-- threads: 100,000 coroutines, each yielding 10 times and returning how
-- often it yielded, run round-robin from a queue until all are dead; the
-- returned counts are summed. Measures coroutine creation and switches.

local thread_count = 100000
local yields = 10

local function worker()
  local count = 0
  while count < yields do
    coroutine.yield()
    count = count + 1
  end
  return count
end

-- The run queue: queue[first] .. queue[last].
local queue = {}
local first, last = 1, 0
for _ = 1, thread_count do
  last = last + 1
  queue[last] = coroutine.create(worker)
end

local total = 0
while first <= last do
  local co = queue[first]
  queue[first] = nil
  first = first + 1
  local ok, result = coroutine.resume(co)
  if not ok then
    error(result)
  end
  if coroutine.status(co) == "dead" then
    total = total + result
  else
    last = last + 1
    queue[last] = co
  end
end

print(total)
