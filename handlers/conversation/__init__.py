"""A resident's conversation: a report becomes a case, a question back or an answer (`resident`);
进度, 撤销, ratings and other requests about their own cases (`resident_requests`); a worker's chat
commands (`worker_commands`), which hand each word to the domain that does it (cases, visits …)."""
