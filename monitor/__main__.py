from monitor.cli import main

# The guard matters: the feed parser's worker processes re-import the main module.
if __name__ == "__main__":
    main()
