-- deeprec: sum a 1,000,000-element list with a recursion that is not a
-- tail call, so a million frames are live at the deepest point. Measures
-- how deep the stack can go. Stock Lua 5.4 stops with "stack overflow"
-- (its stack holds at most 1,000,000 slots, about half a million frames of
-- this function); that failure is the result, kept as it is.
-- Lists are cons cells {head, tail} with nil as the empty list.

local size = 1000000

-- The list (0 1 ... n-1).
local function make_range(n)
  local acc = nil
  for i = n - 1, 0, -1 do
    acc = { i, acc }
  end
  return acc
end

local function sum(list)
  if list == nil then
    return 0
  end
  return list[1] + sum(list[2])
end

print(sum(make_range(size)))
