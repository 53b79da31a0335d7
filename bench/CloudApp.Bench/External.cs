using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CloudApp.Bench;

/// <summary>
/// What the benchmarks need around other programs (reference tools, run with <see cref="ExternalProgram"/>, and the
/// services under test, see <see cref="Service"/>).
/// </summary>
public static class External
{
    /// <summary>How long a reference tool may run.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Resident memory of a process, from /proc (Linux).</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"no VmRSS for process {pid}");
    }
}

/// <summary>A web service started from its built assembly on a loopback port, stopped on dispose.</summary>
public sealed class Service : IAsyncDisposable
{
    private readonly Process _process;

    private Service(Process process, Uri address, double startSeconds)
    {
        _process = process;
        Address = address;
        StartSeconds = startSeconds;
    }

    public Uri Address { get; }

    /// <summary>From process start until its readiness path first answered 200.</summary>
    public double StartSeconds { get; }

    public int ProcessId => _process.Id;

    /// <summary>The file the process runs now (a native entry point may have replaced itself with another build).</summary>
    public string Executable => OperatingSystem.IsLinux() ? Path.GetFileName(new FileInfo($"/proc/{_process.Id}/exe").LinkTarget ?? "") : "";

    public static async Task<Service> StartAsync(string assembly, string readyPath, IReadOnlyDictionary<string, string> settings)
    {
        var port = External.FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        // A framework-dependent build is run by dotnet; a published one by its own executable.
        var start = assembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new ProcessStartInfo("dotnet", [assembly, "--urls", address.ToString()])
            : new ProcessStartInfo(assembly, ["--urls", address.ToString()]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings) start.Environment[key] = value;

        var started = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {assembly}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(address, readyPath));
                if (response.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException)
            {
            }
            if (process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"{assembly} did not become ready on {address}");
            }
            await Task.Delay(5);
        }
        return new Service(process, address, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
