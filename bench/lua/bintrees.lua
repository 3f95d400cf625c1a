-- bintrees: the binary-trees benchmark, max depth 16. Allocates many
-- short-lived trees and one long-lived one. Measures allocation and the
-- garbage collector. A node is {left, right}; a leaf is {false, false}.

local function make_tree(depth)
  if depth == 0 then
    return { false, false }
  end
  return { make_tree(depth - 1), make_tree(depth - 1) }
end

-- Number of nodes in tree.
local function check(tree)
  if tree[1] then
    return 1 + check(tree[1]) + check(tree[2])
  end
  return 1
end

local min_depth = 4
local max_depth = 16

local stretch = max_depth + 1
print(string.format("stretch tree of depth %d\t check: %d",
                    stretch, check(make_tree(stretch))))

local long_lived = make_tree(max_depth)

for depth = min_depth, max_depth, 2 do
  local iterations = 1 << (max_depth - depth + min_depth)
  local sum = 0
  for _ = 1, iterations do
    sum = sum + check(make_tree(depth))
  end
  print(string.format("%d\t trees of depth %d\t check: %d",
                      iterations, depth, sum))
end

print(string.format("long lived tree of depth %d\t check: %d",
                    max_depth, check(long_lived)))
