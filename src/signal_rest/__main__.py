from signal_rest.cli import main

main()
