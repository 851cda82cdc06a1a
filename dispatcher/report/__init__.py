"""The post-incident report for SDS and KL: `dispatcher incident report N`."""
