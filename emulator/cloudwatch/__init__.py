"""CloudWatch: alarms as AWS keeps them."""
