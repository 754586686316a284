from adfusion_edge.cli import main

raise SystemExit(main())
