-- Cycles through pre-encrypted callback requests (one "path<TAB>body" per line).
-- Each wrk thread starts at its own share of the file, so no two threads send the same MsgId
-- unless a run outlasts the file.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1),
      { ["Content-Type"] = "application/xml" }, line:sub(tab + 1))
  end
  index = math.floor(#requests * id / tonumber(args[2]))
end

function request()
  index = index % #requests + 1
  return requests[index]
end
