from mlsplab.cli import main

raise SystemExit(main())
