namespace CloudApp.AppHost.Prometheus;

/// <summary>A Prometheus server run from a container image, configured from files under deploy/prometheus.</summary>
public sealed class PrometheusResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";
    public const int Port = 9090;

    /// <summary>Where the file-based service discovery reads its target lists inside the container.</summary>
    public const string TargetsDirectory = "/etc/prometheus/targets";

    private EndpointReference? _httpEndpoint;

    public EndpointReference HttpEndpoint => _httpEndpoint ??= new(this, HttpEndpointName);
}
