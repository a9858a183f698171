"""What the product does, with no HTTP: the path of one message, one room each.

intake/        an accepted message is handled once, in order, and dispatched by who sent it
conversation/  a resident's words become a report, a question back, or an answer about their cases;
               a worker's chat commands go to the domain that does them
cases/         the case: opening, the closed loop 上报 → 处置 → 办结 → 反馈 → 归档, the 117 clock, escalation
places/        where a report is: addresses, the unit index, routing to a grid and a worker
registry/      areas, grids, units, workers and residents; the workbook import and export
classify/      which matter a text describes (rules + model)
console/       what the admin console does: accounts, audit, case actions, rule sets, stats, broadcasts
chat/          below them all: the inbound message value, pending questions, chat command words, case numbers
privacy/       masking and retention
visits/        proactive work: special groups' visits, patrol lists and check-ins
open311/       Open311 GeoReport v2: partner systems file and follow cases
Loose: texts (templates a person reads), services (what handlers need besides a session), facts (metrics).
Imports go one way: intake → conversation → cases/visits → places/registry/classify/chat/privacy;
console and open311 → cases.
"""
