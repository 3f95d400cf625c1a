-- closures: a 1,000,000-element sequence, five rounds of mapping a closure
-- that captures the round number, then folding another closure over the
-- result. Measures closure creation and calls, map, and allocation.
-- Lua's natural sequence is an array, so map and fold work on arrays here
-- (the Scheme version uses lists, its natural sequence).

local size = 1000000

local function make_range(n)
  local t = {}
  for i = 1, n do
    t[i] = i - 1
  end
  return t
end

local function map(f, t)
  local r = {}
  for i = 1, #t do
    r[i] = f(t[i])
  end
  return r
end

local function fold(f, acc, t)
  for i = 1, #t do
    acc = f(acc, t[i])
  end
  return acc
end

local numbers = make_range(size)

local function one_round(k)
  return fold(function(acc, x) return acc + x end,
              0,
              map(function(x) return x + k end, numbers))
end

local total = 0
for k = 1, 5 do
  total = total + one_round(k)
end
print(total)
