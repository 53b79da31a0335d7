// Several tests saturate the CPU on purpose and assert that the service still answers promptly;
// running them next to each other on a small machine would measure the test run, not the service.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
