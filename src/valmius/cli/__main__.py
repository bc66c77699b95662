from valmius.cli import main

main()
