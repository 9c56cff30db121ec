"""IAM: identity policies evaluated for the functions' own calls, made with the credentials Lambda hands them."""
