// The collections spend most of their time waiting on Prometheus (scrape intervals, an alert's minute, discovery)
// and on containers starting; xUnit's default of one thread per core would run only two of them at a time.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
