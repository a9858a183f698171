"""Personal data: masking for group chats and logs (`masking`), and retention (`retention`)."""
