"""The orders domain: validation, money, messages and HTTP responses, free of AWS calls."""
