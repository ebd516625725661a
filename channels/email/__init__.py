"""Email: IMAP in, SMTP out. `parse` reads whatever mail clients send; the rest moves bytes."""
