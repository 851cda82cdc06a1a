from dispatcher.cli.app import main

main()
