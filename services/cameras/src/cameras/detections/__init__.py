"""Detections from the camera feed: three doors (Kafka topic, gRPC stream, HTTP batch), one path."""
