using System.Globalization;
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

    /// <summary>Sums the samples of one Prometheus metric family whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sample(string exposition, string family, params (string Name, string Value)[] labels)
    {
        double sum = 0;
        var found = false;
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !(line.StartsWith(family + "{", StringComparison.Ordinal) || line.StartsWith(family + " ", StringComparison.Ordinal)))
            {
                continue;
            }
            if (labels.All(l => line.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                var value = line[(line.LastIndexOf(' ') + 1)..];
                sum += double.Parse(value, CultureInfo.InvariantCulture);
                found = true;
            }
        }
        return found ? sum : double.NaN;
    }
}
