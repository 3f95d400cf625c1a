-- tak: the Takeuchi function, repeated. Measures calls with three
-- arguments and integer comparison.

local function tak(x, y, z)
  if y < x then
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))
  end
  return z
end

local result = tak(18, 12, 6)
for _ = 2, 400 do
  result = tak(18, 12, 6)
end
print(result)
