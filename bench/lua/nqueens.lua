-- nqueens: count all placements of 8 queens, with lists. Measures list
-- allocation, short recursive walks and comparisons. Lists are cons cells
-- {head, tail} with nil as the empty list, as in the Scheme version.

local function cons(h, t)
  return { h, t }
end

-- The list (1 2 ... n).
local function one_to(n)
  local acc = nil
  for i = n, 1, -1 do
    acc = cons(i, acc)
  end
  return acc
end

-- A copy of list a followed by list b, like Scheme's append.
local function append(a, b)
  if a == nil then
    return b
  end
  return cons(a[1], append(a[2], b))
end

-- Is a queen in row `row` safe from the queens already `placed`, the
-- nearest of which is `dist` columns away?
local function ok(row, dist, placed)
  while placed ~= nil do
    local q = placed[1]
    if q == row + dist or q == row - dist then
      return false
    end
    dist = dist + 1
    placed = placed[2]
  end
  return true
end

-- `candidates` are rows still free to try in this column, `rejected` are
-- free rows already tried here, `placed` the rows of the queens so far.
local function try(candidates, rejected, placed)
  if candidates == nil then
    if rejected == nil then
      return 1
    end
    return 0
  end
  local row = candidates[1]
  local count = 0
  if ok(row, 1, placed) then
    count = try(append(candidates[2], rejected), nil, cons(row, placed))
  end
  return count + try(candidates[2], cons(row, rejected), placed)
end

local function queens(n)
  return try(one_to(n), nil, nil)
end

local result = queens(8)
for _ = 2, 300 do
  result = queens(8)
end
print(result)
