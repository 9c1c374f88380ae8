"""Adapters: the ports implemented with DynamoDB (pynamodb), SQS and EventBridge (boto3)."""
