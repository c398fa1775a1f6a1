// Intentionally empty: SwiftPM needs one source file to build a C target.
