from gangan.cli import main

main()
