from signal_rest.bench.run import main

main()
