from moviedl.cli import main

main()
