import FuzzSupport

runLibFuzzer(testOneInput)
