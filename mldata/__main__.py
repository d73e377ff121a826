from mldata._launch import main

main()
