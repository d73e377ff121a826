from mldata.cli import main

main()
