-- pingpong: the main coroutine and an echo coroutine pass a number back
-- and forth, 1,000,000 round trips: main resumes the echo coroutine with
-- n, and it yields n+1 back. Lua has no channels; resume and yield are its
-- way for two coroutines to hand values to each other. Resuming with nil
-- ends the echo coroutine.

local round_trips = 1000000

local echo = coroutine.create(function(n)
  while n ~= nil do
    n = coroutine.yield(n + 1)
  end
end)

local n = 0
for _ = 1, round_trips do
  local ok, reply = coroutine.resume(echo, n)
  if not ok then
    error(reply)
  end
  n = reply
end
print(n)

coroutine.resume(echo, nil)
assert(coroutine.status(echo) == "dead")
