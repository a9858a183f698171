"""An accepted message's way in: handled once and in order (`inbox`), sent to the resident's or the
worker's handler by who wrote it (`dispatch`), with its log context (`log_context`)."""
