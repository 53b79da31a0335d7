using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The Service-to-iptables lab (docs/lab/service-iptables.sh): kube-proxy's chains written into a network namespace
/// that plays the node, the ComputeApi built with these tests running in two "pod" namespaces, and a client sending
/// requests to the ClusterIP; then the original lab's failure, with the Prometheus of the image the stack runs in the
/// client's namespace. Needs root (network namespaces and netfilter), as CI has.
/// </summary>
public sealed partial class ServiceIptablesLabTests
{
    private const int Requests = 200;
    private const string NamespacePrefix = "cloudapp-lab-";

    // Two pods start, three phases of requests run, Prometheus scrapes through two forwarding states; a minute or two
    // is typical, the rest is room for a busy machine.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task RequestsToTheClusterIpSpreadOverBothPodsAndFailOverWhenOneEndpointGoes()
    {
        Assert.True(File.Exists(Repository.ComputeApiAssembly), $"ComputeApi is not built at {Repository.ComputeApiAssembly}");

        var prometheus = Directory.CreateTempSubdirectory("cloudapp-lab-prometheus-");
        ExternalProgram.Result result;
        try
        {
            var binary = await PrometheusBinaryAsync(prometheus.FullName);
            result = await ExternalProgram.RunAsync("bash",
                [Repository.Path("docs", "lab", "service-iptables.sh"), "--computeapi", Repository.ComputeApiAssembly, "--requests", $"{Requests}",
                 "--prometheus", binary],
                Timeout);
        }
        catch (TimeoutException)
        {
            // A killed run cannot clean up after itself; leave the machine as it was for the next run.
            await ExternalProgram.RunAsync("bash", [Repository.Path("docs", "lab", "service-iptables.sh"), "--cleanup"], TimeSpan.FromMinutes(1));
            throw;
        }
        finally
        {
            prometheus.Delete(recursive: true);
        }

        var line = ResultLine().Match(result.Output);
        Assert.True(line.Success, $"no RESULT line in the lab's output:\n{result}");
        int Count(string group) => int.Parse(line.Groups[group].Value, CultureInfo.InvariantCulture);

        // Spread: kube-proxy's 0.5 probability rule; each pod gets a fair share (the script itself holds 30-70 %).
        Assert.True(Count("spreadA") >= Requests / 4, $"pod-a served {Count("spreadA")} of {Requests}:\n{result}");
        Assert.True(Count("spreadB") >= Requests / 4, $"pod-b served {Count("spreadB")} of {Requests}:\n{result}");
        // Failover: pod-b's endpoint chain and jump removed; pod-b still runs, and gets nothing.
        Assert.Equal(0, Count("failoverB"));
        Assert.Equal(Requests, Count("failoverA"));
        // The original lab's failure: both pod targets DOWN with "context deadline exceeded" and Prometheus' own UP
        // while the node reached the pod; UP once the CNI's FORWARD rules are back.
        Assert.True(line.Groups["forwarding"].Value == "down=2 self=up node=200 up=2", $"forwarding {line.Groups["forwarding"].Value}:\n{result}");
        Assert.True(result.ExitCode == 0, result.ToString());

        var namespaces = await ExternalProgram.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(30));
        Assert.True(namespaces.ExitCode == 0, namespaces.ToString());
        Assert.DoesNotContain(NamespacePrefix, namespaces.Output, StringComparison.Ordinal);
    }

    /// <summary>The server binary of the Prometheus image the stack runs, copied out of it into <paramref name="directory"/>.</summary>
    private static async Task<string> PrometheusBinaryAsync(string directory)
    {
        var created = await ExternalProgram.RunAsync("docker", ["create", Repository.Images.Prometheus.ToString()], TimeSpan.FromMinutes(1));
        Assert.True(created.ExitCode == 0, created.ToString());
        var container = created.Output.Trim();
        try
        {
            var copied = await ExternalProgram.RunAsync("docker", ["cp", "-q", $"{container}:/bin/prometheus", directory], TimeSpan.FromMinutes(1));
            Assert.True(copied.ExitCode == 0, copied.ToString());
        }
        finally
        {
            await ExternalProgram.RunAsync("docker", ["rm", container], TimeSpan.FromMinutes(1));
        }
        return Path.Combine(directory, "prometheus");
    }

    [GeneratedRegex(@"^RESULT spread a=(?<spreadA>\d+) b=(?<spreadB>\d+) failover a=(?<failoverA>\d+) b=(?<failoverB>\d+) noendpoints \S+ forwarding (?<forwarding>.*?) backend=", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
