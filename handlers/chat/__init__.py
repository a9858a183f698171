"""What conversations and case commands share: the inbound message value, pending questions
(`pending`), the chat command words (`commands`) and how case numbers are written (`case_numbers`)."""
