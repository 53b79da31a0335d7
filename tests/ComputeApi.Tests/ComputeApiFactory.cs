using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CloudApp.ComputeApi.Tests;

/// <summary>Starts the real ComputeApi in memory with configuration overrides.</summary>
public static class ComputeApiFactory
{
    /// <summary>A job that would run for minutes: it holds a slot until it is cancelled or reaches its deadline.</summary>
    public const string LongJob = "/api/compute/primes?size=1000000000000";

    /// <summary>The setting that lets <see cref="LongJob"/> through (the default maximum is 10^10).</summary>
    public static readonly (string Key, string Value) AllowLongJobs = ("Compute:Primes:MaxSize", "1000000000000");

    public static WebApplicationFactory<Program> Create(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        });

    /// <summary>
    /// Like <see cref="Create"/>, but served by real Kestrel on a loopback port: real sockets, real thread pool
    /// scheduling and Kestrel's own metrics, as Prometheus would see the service.
    /// </summary>
    public static WebApplicationFactory<Program> CreateOnKestrel(params (string Key, string Value)[] settings)
    {
        // Port 0 in the URL too: without it Kestrel falls back to its default, port 5000, which a local registry
        // or another service may hold.
        var factory = Create([.. settings, ("urls", "http://127.0.0.1:0")]);
        factory.UseKestrel(0);
        factory.StartServer();
        return factory;
    }
}
