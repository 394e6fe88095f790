from bvverify.cli import main

main()
