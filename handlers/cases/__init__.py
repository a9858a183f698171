"""The case: opened (`records`), moved through its lifecycle by whoever may (`lifecycle`, `case_work`,
`authority`), told to people (`case_notices`), timed and escalated (`timing`, `clock`, `escalation`),
and looked up and reported from chat (`worker_queries`, `patrol`); corrected (`corrections`,
`false_report`) and followed by residents (`progress_page`). Points live in handlers/points, departments'
whistles in handlers/departments."""
