"""Shared mechanism of the d07 services."""
