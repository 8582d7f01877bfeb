"""The wire: connection settings, the retry and error policy, and the two thin transports
(requests for the sync path, aiohttp for the async one)."""
