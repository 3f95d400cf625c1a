-- strhash: 200,000 string keys "k0" .. "k199999" stored in a table, then
-- each looked up again. Measures number-to-string conversion,
-- concatenation, string hashing and table growth.

local key_count = 200000

local function key(i)
  return "k" .. tostring(i)
end

local table_ = {}
for i = 0, key_count - 1 do
  table_[key(i)] = i
end

local sum = 0
for i = 0, key_count - 1 do
  sum = sum + (table_[key(i)] or 0)
end
print(sum)
