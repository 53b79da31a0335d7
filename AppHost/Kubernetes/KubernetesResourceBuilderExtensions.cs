using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class KubernetesResourceBuilderExtensions
{
    /// <summary>
    /// Describes how the resource runs in Kubernetes (see <see cref="KubernetesWorkload"/>). Resources without
    /// it are not published as workloads.
    /// </summary>
    public static IResourceBuilder<T> WithKubernetes<T>(this IResourceBuilder<T> builder, Action<KubernetesWorkload> configure)
        where T : IResourceWithEndpoints
    {
        var annotation = builder.Resource.Annotations.OfType<KubernetesWorkloadAnnotation>().SingleOrDefault();
        if (annotation is null)
        {
            annotation = new KubernetesWorkloadAnnotation(new KubernetesWorkload());
            builder.WithAnnotation(annotation);
        }
        configure(annotation.Workload);
        return builder;
    }

    /// <summary>
    /// The deploy-time settings of a published workload, apart from the resource itself: its CPU and memory requests
    /// and limits, and a <paramref name="nodePort"/> that opens its Service on every node.
    /// </summary>
    public static IResourceBuilder<T> PublishAsKubernetesWorkload<T>(this IResourceBuilder<T> builder, ComputeResources resources, int? nodePort = null)
        where T : IResourceWithEndpoints =>
        builder.WithKubernetes(k =>
        {
            k.Resources = resources;
            if (nodePort is { } port)
            {
                k.Service = (k.Service ?? throw new InvalidOperationException($"'{builder.Resource.Name}' has no Service to open on a node port."))
                    with { NodePort = port };
            }
        });
}
