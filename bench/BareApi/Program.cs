using CloudApp.ComputeApi.Kernels;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

app.MapGet("/primes", (long size) => PrimeCountKernel.CountPrimes(size, KernelContext.None));
app.MapGet("/alive", () => "ok");

app.Run();
