-- Cycles through pre-encrypted callback requests (one "path<TAB>body" per line).
local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1),
      { ["Content-Type"] = "application/xml" }, line:sub(tab + 1))
  end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
