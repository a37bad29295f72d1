"""The one-command local stack: the SPA, the function behind a function URL emulator, moto and a fake provider."""
