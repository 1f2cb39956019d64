"""Sandbox upstreams: a loopback HTTP server simulating the inQuba Journey and Insider UCD APIs.

Built from the public API references only (it imports nothing from the app), so the app's tests,
`make run` and benchmarks talk to something that follows the documented wire format.
"""
