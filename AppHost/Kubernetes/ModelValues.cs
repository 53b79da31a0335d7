using System.Globalization;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// Environment variables and arguments of the app model as they are inside the cluster: parameters resolved,
/// endpoints turned into the Service URLs of the namespace.
/// </summary>
internal sealed class ModelValues(DistributedApplicationExecutionContext executionContext, IReadOnlyList<(IResource Resource, KubernetesWorkload Workload)> workloads)
{
    /// <summary>The resource's environment, as plain values.</summary>
    public async Task<List<V1EnvVar>> EnvironmentOf(IResource resource, CancellationToken cancellationToken)
    {
        var result = new List<V1EnvVar>();
        if (!resource.TryGetEnvironmentVariables(out var callbacks)) return result;

        var context = new EnvironmentCallbackContext(executionContext, resource, cancellationToken: cancellationToken);
        foreach (var callback in callbacks)
        {
            await callback.Callback(context);
        }
        foreach (var (name, value) in context.EnvironmentVariables)
        {
            if (value is ParameterResource { Secret: true } secret)
            {
                throw new NotSupportedException($"'{resource.Name}' gets the secret parameter '{secret.Name}' in {name}: a published base "
                    + "carries no secrets. Have the workload read a Secret the user creates (see deploy/k8s/components).");
            }
            result.Add(new V1EnvVar { Name = name, Value = await ValueOf(value, cancellationToken) });
        }
        return result;
    }

    /// <summary>An environment value as it is inside the cluster: endpoints become Service URLs in the namespace.</summary>
    private async Task<string> ValueOf(object? value, CancellationToken cancellationToken)
    {
        switch (value)
        {
            case null:
                return "";
            case string text:
                return text;
            case ParameterResource parameter:
                return await parameter.GetValueAsync(cancellationToken) ?? "";
            case EndpointReference endpoint:
                return ResolveEndpoint(endpoint, EndpointProperty.Url);
            case EndpointReferenceExpression expression:
                return ResolveEndpoint(expression.Endpoint, expression.Property);
            case ReferenceExpression reference:
                var parts = new object?[reference.ValueProviders.Count];
                for (var i = 0; i < parts.Length; i++)
                {
                    parts[i] = await ValueOf(reference.ValueProviders[i], cancellationToken);
                }
                return string.Format(CultureInfo.InvariantCulture, reference.Format, parts);
            default:
                throw new NotSupportedException($"Cannot publish an environment value of type {value.GetType().Name}.");
        }
    }

    private string ResolveEndpoint(EndpointReference endpoint, EndpointProperty property)
    {
        var target = workloads.SingleOrDefault(w => w.Resource == endpoint.Resource);
        if (target.Workload is null)
        {
            throw new InvalidOperationException($"'{endpoint.Resource.Name}' is referenced but not published to Kubernetes.");
        }
        var containerPort = ManifestGenerator.ContainerPort(target.Resource, target.Workload);
        var servicePort = target.Workload.Service?.Port ?? containerPort;
        var host = target.Resource.Name;
        return property switch
        {
            EndpointProperty.Url => $"http://{host}:{servicePort}",
            EndpointProperty.Host or EndpointProperty.IPV4Host => host,
            EndpointProperty.Port => servicePort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.TargetPort => containerPort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.Scheme => "http",
            EndpointProperty.HostAndPort => $"{host}:{servicePort}",
            _ => throw new NotSupportedException($"Endpoint property {property} is not published."),
        };
    }

    public static async Task<List<string>> ArgumentsOf(IResource resource, CancellationToken cancellationToken)
    {
        var arguments = new List<object>();
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(new CommandLineArgsCallbackContext(arguments, cancellationToken));
        }
        return [.. arguments.Select(a => a as string ?? throw new NotSupportedException($"'{resource.Name}' has a non-text argument."))];
    }
}
