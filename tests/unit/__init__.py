"""Tests of pure logic: no server, store or app."""
