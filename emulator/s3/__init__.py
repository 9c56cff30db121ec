"""S3: the changes to moto's S3 the CDK's bootstrap bucket needs."""
